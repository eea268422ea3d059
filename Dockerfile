# Price War Room — production image (PostgreSQL via DATABASE_URL; see docker-compose.yml and README "Self-hosting").
#
# Stage 1 runs docker/install.sh, the same script tests/test_installed_wheel.py runs in CI (Docker itself cannot
# run there): it builds the wheel with pinned, hashed build tools and installs it, non-editable, with every
# dependency from requirements.lock (pinned, hash-checked, wheels only) into the virtualenv /opt/pricewar.
# Stage 2 is a plain Python runtime with that virtualenv copied in: no compiler, no pip/setuptools/wheel.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN sh docker/install.sh /src /opt/pricewar

FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/pricewar/bin:$PATH \
    PRICEWAR_DATA_DIR=/var/lib/pricewar \
    PRICEWAR_HOST=0.0.0.0 \
    PRICEWAR_PORT=8000
# Run-time libraries only: Pango/HarfBuzz and a font for the board pack's PDF (WeasyPrint). The base image's
# own packaging tools go: nothing in the final stage can build or fetch Python code.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && python -m pip uninstall --quiet --yes pip setuptools wheel \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/pricewar --no-create-home pricewar \
    && install -d -o pricewar -g pricewar -m 0750 /var/lib/pricewar /var/lib/pricewar/backups
COPY --from=build /opt/pricewar /opt/pricewar
COPY docker/entrypoint.sh /usr/local/bin/pricewar-entrypoint
COPY docker/backup.sh /usr/local/bin/pricewar-backup
USER pricewar
WORKDIR /var/lib/pricewar
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PRICEWAR_PORT', '8000'), timeout=2).status == 200 else 1)"]
ENTRYPOINT ["sh", "/usr/local/bin/pricewar-entrypoint"]
