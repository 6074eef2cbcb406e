from oracle.simulators.server import main

main()
