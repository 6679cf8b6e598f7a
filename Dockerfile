# The `app` image: the llmrg CLI (also the worker, beat and flower services of docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY llmrg ./llmrg
COPY ingestion ./ingestion
COPY cypher ./cypher
COPY reasoning ./reasoning
COPY workers ./workers
COPY gnn ./gnn
RUN pip install .

RUN useradd --create-home llmrg
USER llmrg
ENTRYPOINT ["llmrg"]
CMD ["doctor"]
