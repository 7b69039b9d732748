"""The interoperability scripts' checks: each prints one line, and the script ends with
"N passed, M failed" and exits 1 if any failed."""


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what} {detail}")

    def summary(self):
        """Prints the totals; the script's exit status."""
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
