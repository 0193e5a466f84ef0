"""Command line: ``python -m kusari demo`` trains a small model on the bundled digits."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kusari")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="train a model on the bundled digits (offline)")
    demo.add_argument("--epochs", type=int, default=None)
    demo.add_argument("--quick", action="store_true", help="a few steps only (used by the tests)")
    demo.add_argument("--out", default="kusari_demo", help="folder for the saved model and plots")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from kusari.demo import run
        run(epochs=args.epochs, quick=args.quick, out=args.out)
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
