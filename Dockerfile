# Price War Room — production image (PostgreSQL via DATABASE_URL; see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY app ./app
COPY docker/entrypoint.sh /usr/local/bin/pricewar-entrypoint
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home /app pricewar \
    && chown -R pricewar /app

USER pricewar
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["pricewar-entrypoint"]
