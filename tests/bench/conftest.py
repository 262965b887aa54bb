def pytest_configure(config):
    config.addinivalue_line("markers", "bench: runs a bench/ script at a tiny size")
