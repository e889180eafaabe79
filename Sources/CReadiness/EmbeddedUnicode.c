// The Unicode data the Embedded stdlib asks for, in place of its 37 KB of
// tables (libswiftUnicodeDataTables; the Makefile links this instead, the
// SwiftPM build leaves it out, see Package.swift). Every scalar is its own
// normal form and, beyond what the stdlib decides in Swift (ASCII, CR LF,
// Hangul, regional indicators), its own Character. So Strings compare and
// hash by their scalars, as supervisord (Python) compares the names it
// sends: a program name is the same bytes on both sides or a different name.
#include <stdbool.h>
#include <stdint.h>

// Canonical combining class 0, NFC and NFD quick check "yes": never decomposed.
uint16_t _swift_stdlib_getNormData(uint32_t scalar) { (void)scalar; return 0; }

// Never asked for a scalar whose norm data is 0; answer "none" all the same.
const uint8_t *const _swift_stdlib_nfd_decompositions = 0;
uint32_t _swift_stdlib_getDecompositionEntry(uint32_t scalar) { (void)scalar; return UINT32_MAX; }
uint32_t _swift_stdlib_getComposition(uint32_t x, uint32_t y) { (void)x; (void)y; return UINT32_MAX; }

// Grapheme_Cluster_Break=Other: a break on both sides (GB999).
uint8_t _swift_stdlib_getGraphemeBreakProperty(uint32_t scalar) { (void)scalar; return UINT8_MAX; }
bool _swift_stdlib_isInCB_Consonant(uint32_t scalar) { (void)scalar; return false; }
bool _swift_stdlib_isExtendedPictographic(uint32_t scalar) { (void)scalar; return false; }
