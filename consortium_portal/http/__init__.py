"""The portal over HTTP: what routes depend on (``deps.py``), how pages answer (``render.py``), errors as HTTP
(``errors.py``), the request body limit (``limits.py``), and the routers: ``api/`` (``/api/v1``) and ``pages/``. Routes
are thin: the logic is in the services one folder up, which import nothing of FastAPI."""
