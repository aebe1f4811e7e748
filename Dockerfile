# syntax=docker/dockerfile:1
# One image for both long-running parts of stackchain:
#   docker run ... stackchain            -> `stackchain api --host 0.0.0.0` (needs STACKCHAIN_API_TOKEN)
#   docker run ... stackchain worker     -> the chain engine's worker
# Settings come from the environment (see config/.env.example); the dependency file is expected
# at /etc/stackchain/stacks.yaml (mount it, or set STACKCHAIN_CONFIG).

# The base image of both stages, as name:tag@sha256:<digest> once pinned: deploy/pin-images.sh
# reads the digest of the tag from the registry and writes it here (and in docker-compose.yml).
# To bump it: change the tag, run deploy/pin-images.sh where a registry is reachable, review and
# commit. `docker build --build-arg PYTHON_IMAGE=...` overrides it for one build.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the dependencies exactly as requirements.lock pins them (hashes checked), then the
# project's wheel on top, resolving nothing again ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/stackchain
COPY requirements.lock ./
RUN /opt/stackchain/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
    && /opt/stackchain/bin/pip install --no-deps /dist/stackchain-*.whl

# --- runtime: the virtual environment alone, run by an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="stackchain" \
      org.opencontainers.image.description="Run Spacelift stacks in dependency order on Temporal" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 stackchain \
    && useradd --system --uid 10001 --gid stackchain --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin stackchain
COPY --from=build /opt/stackchain /opt/stackchain
ENV PATH=/opt/stackchain/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STACKCHAIN_CONFIG=/etc/stackchain/stacks.yaml
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# /healthz of the API on its default port; the worker serves no HTTP, so its deployments turn
# this off (docker-compose.yml, deploy/k8s/worker.yaml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["stackchain"]
CMD ["api", "--host", "0.0.0.0"]
