"""The signing keys of the signed_cookies tests: the current one and a retired one."""

SECRET = "current-secret-0123456789abcdefghijklmnopqrstuvwxyz"
OLD_SECRET = "retired-secret-0123456789abcdefghijklmnopqrstuvwxyz"
