// The Embedded release build's entry point (the Makefile compiles it; the
// SwiftPM build leaves it out, see Package.swift): the process's arguments
// come from `main` itself, which every C library passes them to, then the
// executable's top-level Swift code runs. That code is compiled with
// -entry-point-function-name readiness_swift_main, so `main` is free for this.
#include "CReadiness.h"

int readiness_swift_main(int argc, char **argv);

int main(int argc, char **argv) {
    readiness_set_arguments(argc, argv);
    return readiness_swift_main(argc, argv);
}
