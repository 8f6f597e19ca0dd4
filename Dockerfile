# One image for every part of Syndicate; docker-compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install '.[ops]' && useradd --system --home /app syndicate && mkdir -p /data && chown syndicate /data
USER syndicate
ENV SYNDICATE_DATA_DIR=/data SYNDICATE_HOST=0.0.0.0
EXPOSE 8000
CMD ["syndicate", "api"]
