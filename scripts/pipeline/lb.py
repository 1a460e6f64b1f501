"""A round-robin HTTP load balancer for scripts/pipeline-no-docker.sh: the part nginx plays in
docker-compose.yml, for machines without a container engine. Standard library only.

    python3 lb.py --listen 127.0.0.1:0 --port-file FILE http://127.0.0.1:A http://127.0.0.1:B

Each request goes whole to the next backend in turn; a request that reached a backend is
never retried on another (it may already be stored). On SIGTERM it prints how many requests
each backend got.
"""

import argparse
import http.client
import itertools
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--port-file", required=True, help="the bound port is written here once listening")
    parser.add_argument("backends", nargs="+")
    args = parser.parse_args()

    backends = [urlsplit(b) for b in args.backends]
    turn = itertools.cycle(range(len(backends)))
    lock = threading.Lock()
    served = [0] * len(backends)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            with lock:
                index = next(turn)
                served[index] += 1
            backend = backends[index]
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
            connection = http.client.HTTPConnection(backend.hostname, backend.port, timeout=300)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except OSError as error:
                message = f'{{"error": {{"code": "bad_gateway", "message": "{backend.netloc}: {error}"}}}}'.encode()
                self.send_response(502)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
                return
            finally:
                connection.close()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = forward

        def log_message(self, format, *args):
            pass

    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Proxy)
    server.daemon_threads = True

    def stop(*_):
        report = ", ".join(f"{b.netloc}: {n}" for b, n in zip(backends, served))
        print(f"lb: requests per backend: {report}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(args.port_file, "w") as file:
        file.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
