# syntax=docker/dockerfile:1
# slo-engine: a slim, non-root image. Migrations run only when asked:
#   docker run --rm -e DATABASE_URL=... slo-engine db upgrade
# and the server is the default command (docker run slo-engine).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# The Python client first, from this repository (slo-cli --url uses it; it is not on a
# registry, and the server's pyproject.toml does not name it).
COPY clients/python ./clients/python
RUN /opt/venv/bin/pip install --no-compile ./clients/python
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/venv/bin/pip install --no-compile .

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="slo-engine" \
      org.opencontainers.image.description="Service dependency graph: ingest, query, cycles"
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    API_HOST=0.0.0.0 \
    API_PORT=8000 \
    LOG_JSON=true \
    DATABASE_URL=sqlite+aiosqlite:////data/slo_engine.db
RUN groupadd --system --gid 10001 slo \
 && useradd --system --uid 10001 --gid slo --home-dir /nonexistent --shell /usr/sbin/nologin slo \
 && mkdir /data \
 && chown slo:slo /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /data
# Only /data (the SQLite default) and /tmp are written: run with a read-only root.
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('API_PORT', '8000') + '/api/v1/health', timeout=2)"]
ENTRYPOINT ["slo-cli"]
CMD ["serve"]
