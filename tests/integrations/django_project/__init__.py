"""A small Django project on ``SESSION_ENGINE = "sessionware.django"`` for the integration tests."""
