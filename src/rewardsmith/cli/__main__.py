"""``python -m rewardsmith.cli``: the ``rewardsmith`` command without the console script."""

from rewardsmith.cli.root import main

if __name__ == "__main__":
    main()
