"""gunicorn settings of the peers: 2 sync workers and an access log on stdout, as the app.

Given with ``-c``, so that the project's own ``gunicorn.conf.py`` (read by default from
the project root, and refusing to start without the app's secret key) is not.
"""

workers = 2
accesslog = "-"
errorlog = "-"
