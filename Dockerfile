# The `app` image: the llmrg CLI (also the worker, beat and flower services of docker-compose.yml).
# The image installs the project's wheel, not the source tree, so it holds exactly what the wheel ships:
# the packages, every .cypher file and every prompt version (tests/packaging/test_wheel.py checks that a
# fresh virtual environment with the wheel alone loads them).
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY cypher ./cypher
COPY ingestion ./ingestion
COPY reasoning ./reasoning
COPY gnn ./gnn
COPY workers ./workers
COPY llmrg ./llmrg
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

COPY --from=wheel /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

RUN useradd --create-home llmrg
USER llmrg
WORKDIR /home/llmrg
ENTRYPOINT ["llmrg"]
CMD ["doctor"]
