"""What an operator watches: JSON logs with a request id (logs.py) and Prometheus metrics (metrics.py)."""
