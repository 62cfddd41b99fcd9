"""The load test (``nox -s load``): real servers at saturation, workers killed under load.

``load_test.py`` runs it; ``app.py`` is the application the servers serve;
``client.py`` is the load generator, one process per share of the sessions.
Nothing here is collected by pytest.
"""
