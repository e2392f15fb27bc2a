"""OpenAPI 3.1 path fragments written beside the routes; the coordinator merges them."""
