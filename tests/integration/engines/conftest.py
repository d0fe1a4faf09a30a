from tests.engines_server import fake_openai, fake_openai_server
from tests.fake_dns import fake_dns

__all__ = ["fake_dns", "fake_openai", "fake_openai_server"]
