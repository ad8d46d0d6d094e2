"""Run as the local endpoint's server module (``python -m tests.helpers.silent_server``):
it takes the arguments and never says it is ready, for the manager's deadline."""

import signal

if __name__ == "__main__":
    signal.pause()  # until the manager gives up and kills it
