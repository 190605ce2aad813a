"""The API's reference pages: Swagger UI at /docs and ReDoc at /redoc, served offline."""
