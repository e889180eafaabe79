/// A flat JSON object written field by field, for `readiness_probe --json`,
/// without Foundation's encoder.
package struct JSONObject: Sendable {
    private var members: [String] = []

    package init() {}

    package mutating func set(_ key: String, _ value: String?) {
        members.append("\(quotedString(key)):\(value.map(quotedString) ?? "null")")
    }

    package mutating func set(_ key: String, _ value: Int?) {
        members.append("\(quotedString(key)):\(value.map { "\($0)" } ?? "null")")
    }

    package mutating func set(_ key: String, _ value: Bool?) {
        members.append("\(quotedString(key)):\(value.map { $0 ? "true" : "false" } ?? "null")")
    }

    package mutating func set(_ key: String, _ value: JSONObject) {
        members.append("\(quotedString(key)):\(value.rendered)")
    }

    package mutating func set(_ key: String, _ values: [JSONObject]) {
        members.append("\(quotedString(key)):[\(values.map { $0.rendered }.joined(separator: ","))]")
    }

    package var rendered: String { "{\(members.joined(separator: ","))}" }
}

/// `text` in double quotes with `"` and `\` escaped and control characters
/// written as `\n`, `\t`, `\r` or `\u00XX`: valid JSON, and what logfmt
/// readers accept for a quoted value.
func quotedString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u" + scalar.value.zeroPadded(4, radix: 16)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
