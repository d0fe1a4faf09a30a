from tests.engines_server import fake_openai, fake_openai_server

__all__ = ["fake_openai", "fake_openai_server"]
