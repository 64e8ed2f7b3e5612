# healthdash: the web app and the REST API in one process, for a PostgreSQL named by DATABASE_URL.
#   docker build -t healthdash .
#   docker run -p 8000:8000 -e DATABASE_URL=postgresql://user:password@host:5432/healthdash healthdash
# The app is installed editable from /app, so it finds notebooks/ and db/init.sql beside the package.

ARG PYTHON_VERSION=3.11

# Every dependency ships wheels for amd64 and arm64, so no compiler is needed; on a platform where one is, install it
# in this stage: nothing of it reaches the final image.
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Third-party dependencies first, read from pyproject.toml: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
# Then the app itself. Only what .dockerignore lets through is copied.
COPY . .
RUN pip install --no-deps -e . \
    && python -m compileall -q /app/healthdash

# The image that runs: the interpreter, the virtualenv and the app; pip's caches and build files stay behind.
FROM python:${PYTHON_VERSION}-slim-bookworm
RUN groupadd --system --gid 10001 healthdash \
    && useradd --system --uid 10001 --gid healthdash --create-home --home-dir /home/healthdash \
        --shell /usr/sbin/nologin healthdash \
    && install -d -o healthdash -g healthdash -m 0750 /var/lib/healthdash
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEALTHDASH_HOST=0.0.0.0 \
    HEALTHDASH_PORT=8000 \
    HEALTHDASH_DATA_DIR=/var/lib/healthdash
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
CMD ["python", "-m", "healthdash", "serve"]
