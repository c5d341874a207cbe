# parboard application image (used by compose.yaml; the two make commands do not need it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Production pins only (requirements-dev.lock is for development); .dockerignore leaves out backend/devidp,
# the development identity provider.
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock

COPY backend ./backend
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY tenants ./tenants
COPY alembic.ini ./
RUN pip install --no-deps . && useradd --system --home /app parboard
USER parboard

EXPOSE 8000
CMD ["parboard", "serve", "--host", "0.0.0.0", "--port", "8000"]
