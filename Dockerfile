# syntax=docker/dockerfile:1
# Skirmish game pod: one uvicorn process (one core) per container; scale by containers/pods.
#
#   docker build -t skirmish .                      # the runtime image (last stage)
#   docker build -t skirmish-loadtest --target loadtest .   # + Locust, for docker-compose
#
# Nothing secret is baked in: SKIRMISH_TOKEN_SECRET, SKIRMISH_ADMIN_TOKEN and REDIS_URL come
# from the environment at run time (docs/deploy.md).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: wheels of the project and of every dependency --------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the package build reads (.dockerignore allowlists the same paths).
COPY pyproject.toml README.md ./
COPY game/ game/
COPY api/ api/
COPY sdk/js/src/ sdk/js/src/
COPY realtime/ realtime/
COPY skirmish/ skirmish/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- base: the installed application, no build tools, no wheel files left behind --------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A fixed uid/gid so Kubernetes' runAsUser/fsGroup and compose's `user:` can name it.
RUN groupadd --system --gid 10001 skirmish \
    && useradd --system --uid 10001 --gid skirmish --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin skirmish
# The wheels are bind-mounted from the build stage, so no layer keeps a copy of them.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index /wheels/*.whl
WORKDIR /app

# --- loadtest: Locust and the WebSocket client loadtest/locust_support uses, for the
# compose profile (loadtest/ itself is bind-mounted at run time, not copied) -------------
FROM base AS loadtest
ARG LOCUST_VERSION=2.47.0
ARG WEBSOCKET_CLIENT_VERSION=1.9.2
RUN pip install --no-cache-dir "locust==${LOCUST_VERSION}" \
        "websocket-client==${WEBSOCKET_CLIENT_VERSION}"
USER 10001:10001
EXPOSE 8089 5557
ENTRYPOINT ["locust"]

# --- runtime (default target): the game pod ----------------------------------------------
FROM base AS runtime
USER 10001:10001
EXPOSE 8000
# uvicorn stops on SIGTERM: it closes open sockets with 1012 at once, so a rolling deploy
# must drain first (Kubernetes: the preStop hook calls POST /admin/drain; docs/deploy.md).
STOPSIGNAL SIGTERM
# slim has no curl: ask /healthz with the interpreter that is already there.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# One uvicorn process, no --workers: one core per container (docs/deploy.md).
CMD ["skirmish", "serve", "--host", "0.0.0.0", "--port", "8000"]
