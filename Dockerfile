# ShopPulse application image: the worker, API, simulator and dispatcher are one image with
# different commands (see docker-compose.yml).
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shoppulse ./shoppulse
COPY streams ./streams
COPY api ./api
COPY alerts ./alerts
COPY cli ./cli
COPY kafka_io ./kafka_io
COPY simulator ./simulator
COPY bench ./bench
COPY dashboards ./dashboards
RUN pip install . && useradd --system --uid 10001 shoppulse && mkdir -p /data && chown shoppulse /data
USER shoppulse
ENV SHOPPULSE_WORKER_DATA_DIR=/data/worker SHOPPULSE_API_HOST=0.0.0.0
# The API (and its /metrics); the worker's and the dispatcher's /metrics in docker-compose.yml.
EXPOSE 8000 9102 9103
ENTRYPOINT ["shoppulse"]
CMD ["--help"]
