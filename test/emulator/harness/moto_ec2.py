"""moto_server for the emulator tier, serving EC2 (and SSM) only: `python3 moto_ec2.py HOST PORT`.

moto_server finds the service of every request by matching it against the URL patterns and
request bodies of all its services, and lists its service modules again on each request; its
responses also list the methods of the response class on each call (inspect.getmembers). In
the emulator tier (about 1,270 requests a file, all EC2 but the readiness check on /moto-api)
those two took a third of moto's CPU. Here every request goes to moto's EC2 app, /moto-api to
moto's own, and the method names are computed once per class. Everything else is moto_server's
own code: the same Flask apps, backends and serialisation, run by werkzeug as moto_server runs it.

Where this python3 has no moto (moto installed for another interpreter, or a moto whose server
module differs), it runs `moto_server` itself instead: slower, the same answers.
"""
import functools
import os
import sys

host, port = sys.argv[1], sys.argv[2]

try:
    import moto.core.responses as responses
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple
except ImportError:
    os.execvp("moto_server", ["moto_server", "-H", host, "-p", port])

if hasattr(responses, "method_names_from_class"):
    # A pure function of the class: its public method names.
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)


class Ec2Only(DomainDispatcherApplication):
    """moto_server's dispatcher, with every request but /moto-api and SSM's routed to EC2.

    SSM (the distribution's parameter check) speaks JSON with an `X-Amz-Target: AmazonSSM.<Action>` header.
    """

    def __init__(self):
        super().__init__(create_backend_app)
        self.ec2 = create_backend_app("ec2")
        self.ssm = create_backend_app("ssm")

    def get_application(self, environ):
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return super().get_application(environ)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("AmazonSSM."):
            return self.ssm
        return self.ec2


# moto_server sets MOTO_PORT too (moto builds some URLs from it).
os.environ.setdefault("MOTO_PORT", port)
run_simple(host, int(port), Ec2Only(), threaded=True)
