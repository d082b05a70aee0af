"""A small Asterisk Manager Interface server on 127.0.0.1 for tests.

It speaks the AMI wire protocol as Asterisk does (docs.asterisk.org, "AMI v2
Specification", AMI_Actions/Login): on connect the banner line
``Asterisk Call Manager/<version>``; every message is ``Key: Value`` lines
with CRLF, closed by an empty line; ``Action: Login`` is answered
``Response: Success`` / ``Message: Authentication accepted`` followed by
``Event: FullyBooted``, or ``Response: Error`` / ``Message: Authentication
failed`` (the texts of main/manager.c); ``Action: Logoff`` gets
``Response: Goodbye``. Tests push events to the logged-in client with
``send`` and cut the connection with ``drop`` (an Asterisk restart or a
network cut). Events go to the last session logged in with events (a check
with ``Events: off`` beside it does not take them).
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping

BANNER = "Asterisk Call Manager/7.0.3"


def wire(message: Mapping[str, object]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in message.items()) + "\r\n").encode("utf-8")


class FakeAmi:
    def __init__(self, username: str = "notifier", secret: str = "s3cret-ami", banner: str = BANNER):
        self.username, self.secret, self.banner = username, secret, banner
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.actions: list[dict[str, str]] = []  # every action received, in order
        self.logins = 0  # successful logins
        self.refused = 0
        self.channels: list[dict[str, str]] = []  # answered to CoreShowChannels (Channel, Uniqueid, Linkedid...)
        self._client: socket.socket | None = None  # the logged-in session
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, name="fake-ami", daemon=True)

    # -- lifecycle -------------------------------------------------------------
    def __enter__(self) -> "FakeAmi":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping = True
        self.drop()
        self._close_listener()

    def _close_listener(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
        except OSError:
            pass
        self.listener.close()

    def go_down(self) -> None:
        """Asterisk stopped: the session is cut and new connections are refused."""
        self._close_listener()
        self._thread.join(5)
        self.drop()

    def come_back(self) -> None:
        """Asterisk is up again on the same port."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._accept, name="fake-ami", daemon=True)
        self._thread.start()

    def url(self, username: str | None = None, secret: str | None = None) -> str:
        return f"ami://{username or self.username}:{secret or self.secret}@127.0.0.1:{self.port}"

    # -- what tests do ---------------------------------------------------------
    def wait_for_login(self, count: int = 1, timeout: float = 20) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.logins >= count, timeout):
                raise AssertionError(f"{self.logins} logins after {timeout}s, wanted {count}")

    def wait_for_refusal(self, count: int = 1, timeout: float = 20) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.refused >= count, timeout):
                raise AssertionError(f"{self.refused} refused logins after {timeout}s, wanted {count}")

    def send(self, *events: Mapping[str, object], timeout: float = 20) -> None:
        """Write events to the logged-in client (waits for one to be logged in)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._client is not None, timeout):
                raise AssertionError("no AMI client logged in")
            client = self._client
            for event in events:
                client.sendall(wire(event))

    def drop(self) -> None:
        """Close the logged-in client's connection, as a restarting Asterisk does."""
        with self._cond:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()

    # -- the server ----------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        buffer = b""
        try:
            sock.sendall((self.banner + "\r\n").encode())
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                raw, buffer = buffer.split(b"\r\n\r\n", 1)
                action = {}
                for line in raw.decode().split("\r\n"):
                    key, _, value = line.partition(": ")
                    action[key] = value
                self.actions.append(action)
                reply = {"Response": "Success"}
                if "ActionID" in action:
                    reply["ActionID"] = action["ActionID"]
                name = action.get("Action", "").lower()
                if name == "login":
                    if action.get("Username") == self.username and action.get("Secret") == self.secret:
                        sock.sendall(wire({**reply, "Message": "Authentication accepted"}))
                        sock.sendall(wire({"Event": "FullyBooted", "Privilege": "system,all",
                                           "Uptime": "1200", "LastReload": "1200", "Status": "Fully Booted"}))
                        with self._cond:
                            if action.get("Events", "on").lower() != "off":  # a session that wants events
                                self._client = sock
                            self.logins += 1
                            self._cond.notify_all()
                    else:
                        sock.sendall(wire({**reply, "Response": "Error", "Message": "Authentication failed"}))
                        with self._cond:
                            self.refused += 1
                            self._cond.notify_all()
                        time.sleep(0.05)
                        return  # Asterisk closes the session after a failed login
                elif name == "coreshowchannels":  # the channels Asterisk has now (``self.channels``)
                    sock.sendall(wire({**reply, "EventList": "start", "Message": "Channels will follow"}))
                    for channel in self.channels:
                        sock.sendall(wire({"Event": "CoreShowChannel", **channel,
                                           "ActionID": action.get("ActionID", "")}))
                    sock.sendall(wire({"Event": "CoreShowChannelsComplete", "EventList": "Complete",
                                       "ListItems": str(len(self.channels)), "ActionID": action.get("ActionID", "")}))
                elif name == "logoff":
                    sock.sendall(wire({**reply, "Response": "Goodbye", "Message": "Thanks for all the fish."}))
                    return
                else:
                    sock.sendall(wire(reply))
        except OSError:
            return
        finally:
            with self._cond:
                if self._client is sock:
                    self._client = None
            sock.close()
