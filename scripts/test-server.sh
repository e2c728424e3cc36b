# Sourced by scripts/fuzz and scripts/client-scenario: a debug server on a free port.
# Set DATABASE_URL, JWT_SECRET and the like first; BIN names the binary.

SERVER_PID=""

# A free port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server PORT LOG: `boxoffice serve` on PORT, its output in LOG; returns once
# /health/ready answers, and fails when it does not within 10 s.
start_server() {
  BOXOFFICE_ADDR="127.0.0.1:$1" "$BIN" serve >"$2" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "FAIL: the server did not get ready; its log is $2"
  return 1
}

# Stops the server started last, if any.
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}
