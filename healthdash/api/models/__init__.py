"""The REST API's contract, shared by the server and its clients: what requests may hold and what answers hold.

`values` reads the API's dates, timestamps, amounts and text; `query` holds the query strings, `events` the event
bodies and batches, `responses` the answers; `plain` validates a model's shape into plain dicts (for batches). The
models validate requests and generate the OpenAPI document; they import nothing of the server (handlers, the
service, the database).
"""
