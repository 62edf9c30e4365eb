"""Field declarations: each field of a record described once (see :mod:`webapp.fields.base`).

Below the services and above the models: nothing here imports a blueprint or a service.
"""
