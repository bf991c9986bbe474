def test_version(cli):
    from thothctl import __version__

    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"thothctl {__version__}"
