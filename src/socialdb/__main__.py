from socialdb.cli import main

main()
