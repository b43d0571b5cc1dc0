from plantsync.cli.main import main

main()
