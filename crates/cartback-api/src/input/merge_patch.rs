//! JSON Merge Patch (RFC 7396), the rule of every `PATCH` of a settings
//! document: an object merges member by member, `null` removes a member (it
//! then takes its default when the document is read back), and anything else
//! (arrays, strings, numbers) replaces what was there.

use serde_json::{Map, Value};

/// Applies `patch` to `target` as RFC 7396 section 2 says.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(fields) = target {
        for (name, value) in members {
            if value.is_null() {
                fields.remove(name);
            } else {
                merge_patch(fields.entry(name.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The examples of RFC 7396, appendix A, each `(target, patch, result)`.
    #[test]
    fn the_rfc_examples_hold() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, result) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, result, "patch {patch}");
        }
    }

    /// Arrays are replaced whole, even when they hold objects or nulls.
    #[test]
    fn arrays_replace_with_their_nulls() {
        let mut target = json!({"steps": [{"delayMs": 1}, {"delayMs": 2}], "x": 1});
        merge_patch(&mut target, &json!({"steps": [null, {"delayMs": 5}]}));
        assert_eq!(target, json!({"steps": [null, {"delayMs": 5}], "x": 1}));
    }
}
