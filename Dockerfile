# The image deploy/controller/mizzen-controller.yaml runs: `docker build -t mizzen:0.1.0 .`
# Only the package and its pinned dependencies; runs as a non-root user with a read-only root
# filesystem (the manifest mounts /tmp).
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mizzen ./mizzen
RUN pip install --no-cache-dir . && rm -rf /src
USER 65532:65532
ENTRYPOINT ["mizzen"]
CMD ["controller", "--leader-elect"]
