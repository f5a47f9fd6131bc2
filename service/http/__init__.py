"""The HTTP surface: the app factory, hook dispatch, error answers, middleware and OpenAPI."""
