# Tequio API image: multi-stage, non-root, migrates then serves with uvicorn workers.
#   docker build -t tequio .
#   docker run -e TEQUIO_SECRET_KEY=... -e TEQUIO_DATABASE_URL=postgresql+asyncpg://... -p 8000:8000 tequio
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY cooperative ./cooperative
COPY telehealth ./telehealth
COPY migrations ./migrations
RUN pip install -c constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /home/tequio tequio \
    && mkdir /data && chown tequio /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TEQUIO_ENVIRONMENT=production \
    TEQUIO_HOST=0.0.0.0 \
    TEQUIO_PORT=8000 \
    TEQUIO_WORKERS=2 \
    TEQUIO_DATABASE_URL=sqlite+aiosqlite:////data/tequio.db
WORKDIR /data
USER tequio
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz/ready' % os.environ.get('TEQUIO_PORT', '8000'), timeout=4)"]
CMD ["sh", "-c", "tequio migrate && exec tequio serve"]
