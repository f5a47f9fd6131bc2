# The CDS service. Build: docker build -t ms-backpain-cds .
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY mappings ./mappings
COPY cards ./cards
RUN pip install --no-cache-dir . && useradd --system --uid 10001 cds && mkdir /data && chown cds /data
USER cds
ENV MSCDS_HOST=0.0.0.0 \
    MSCDS_PORT=8000 \
    MSCDS_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2)"
CMD ["ms-backpain-cds", "serve"]
