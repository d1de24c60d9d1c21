"""The web application (issue #13): FastAPI, Jinja2 templates, htmx, ECharts — docs/web.md."""
