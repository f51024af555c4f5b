"""A local SMTP sink for the e-mail benchmark: accepts everything, writes each message's X-Shop-Email id to a file.

python bench/smtp_sink.py PORT IDS_FILE
"""

import sys
import time
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 (open for the life of the process)
        self.parser = BytesHeaderParser()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        headers = self.parser.parsebytes(envelope.content)
        self.out.write(f"{headers.get('X-Shop-Email', '?')}\n")
        return "250 OK"


if __name__ == "__main__":
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()
