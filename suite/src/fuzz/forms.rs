//! Login-page form extraction (suite/src/authz/login.rs: `parse_forms`, and `FilledForm::encoded`).

use proptest::prelude::*;

use super::{fuzz, hostile_string};
use crate::authz::login::{parse_forms, FilledForm, FormMethod};

/// Attribute text: HTML-escaped so that any value survives the round trip.
fn attr(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Values a page may carry that an HTML parser keeps verbatim in an attribute (it normalises CR
/// and NUL, and HTML forbids the C1/C0 controls and noncharacters).
fn attr_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9:/._~-]{0,24}",
        "[^\u{0}-\u{1f}\u{7f}-\u{9f}\u{fdd0}-\u{fdef}\u{fffe}\u{ffff}]{0,24}",
        "[\"'<>&= /;]{0,12}",
    ]
}

/// One control as `(markup, the field it contributes)`.
fn control() -> impl Strategy<Value = (String, Option<(String, String)>)> {
    let name = "[a-zA-Z_][a-zA-Z0-9_.:-]{0,12}";
    prop_oneof![
        (
            name,
            attr_value(),
            prop::sample::select(vec!["text", "hidden", "password", "email", ""])
        )
            .prop_map(|(n, v, t)| (
                format!(
                    r#"<input type="{t}" name="{}" value="{}">"#,
                    attr(&n),
                    attr(&v)
                ),
                Some((n, v))
            )),
        (name, attr_value()).prop_map(|(n, v)| (
            format!(
                r#"<input type="checkbox" name="{}" value="{}" checked>"#,
                attr(&n),
                attr(&v)
            ),
            Some((n, v))
        )),
        (name, attr_value()).prop_map(|(n, v)| (
            format!(
                r#"<input type="checkbox" name="{}" value="{}">"#,
                attr(&n),
                attr(&v)
            ),
            None
        )),
        (name, attr_value()).prop_map(|(n, v)| (
            format!(
                r#"<input disabled name="{}" value="{}">"#,
                attr(&n),
                attr(&v)
            ),
            None
        )),
        attr_value().prop_map(|v| (
            format!(r#"<button type="submit" value="{}">Go</button>"#, attr(&v)),
            None
        )),
    ]
}

/// What a form should parse to: its action, method and fields.
type ExpectedForm = (String, FormMethod, Vec<(String, String)>);

/// A page with forms whose fields are known, wrapped in noise.
fn page() -> impl Strategy<Value = (String, Vec<ExpectedForm>)> {
    let form = (
        "[a-z/?=&.:]{0,20}",
        any::<bool>(),
        prop::collection::vec(control(), 0..6),
        prop::sample::select(vec!["", "<div>", "<p><span>", "<table><tr><td>"]),
    );
    (prop::collection::vec(form, 0..3), "[a-zA-Z <>/!-]{0,40}").prop_map(|(forms, noise)| {
        let mut html = format!("<!doctype html><html><body><p>{}</p>", attr(&noise));
        let mut expected = Vec::new();
        for (action, post, controls, wrap) in forms {
            let method = if post {
                FormMethod::Post
            } else {
                FormMethod::Get
            };
            html.push_str(&format!(
                r#"<form action="{}" method="{}">{wrap}"#,
                attr(&action),
                if post { "POST" } else { "get" }
            ));
            let mut fields = Vec::new();
            for (markup, field) in controls {
                html.push_str(&markup);
                fields.extend(field);
            }
            html.push_str("</form>");
            expected.push((action, method, fields));
        }
        (html, expected)
    })
}

#[test]
fn fuzz_login_forms_rendered_forms_parse_back_to_their_fields() {
    fuzz("login forms round-trip", 128, page(), |(html, expected)| {
        let forms = parse_forms(&html);
        let got: Vec<_> = forms
            .iter()
            .map(|f| (f.action.clone(), f.method, f.fields.clone()))
            .collect();
        prop_assert_eq!(&got, &expected, "page {:?}", html);
        Ok(format!("{} form(s)", forms.len()))
    });
}

/// Hostile pages: unclosed and nested forms, deep nesting, huge attributes, stray markup.
fn hostile_page() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<form>".to_owned()),
        Just("</form>".to_owned()),
        Just("<form method=post action='x'>".to_owned()),
        hostile_string().prop_map(|v| format!("<input name=a value='{v}'>")),
        hostile_string().prop_map(|v| format!("<input name=\"{v}\" type=radio checked>")),
        hostile_string().prop_map(|v| format!(
            "<select name=s{v}><option>{v}<option selected value={v}></select>"
        )),
        hostile_string().prop_map(|v| format!("<textarea name=t>{v}</textarea>")),
        hostile_string().prop_map(|v| format!("<button formaction=\"{v}\" formmethod={v}>")),
        (1..2_000usize).prop_map(|d| "<div>".repeat(d)),
        hostile_string(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

#[test]
fn fuzz_login_forms_never_panic_on_hostile_pages_and_fields_stay_bounded() {
    fuzz("login forms hostile", 64, hostile_page(), |html| {
        let forms = parse_forms(&html);
        let mut size = 0;
        for f in &forms {
            for (n, v) in &f.fields {
                size += n.len() + v.len();
            }
            let filled = FilledForm {
                method: f.method,
                action: f.action.clone(),
                fields: f.fields.clone(),
            };
            let _ = filled.encoded();
        }
        // A field is at most its markup; U+FFFD for a NUL grows 1 byte to 3; a select repeats an
        // option's text at most once per selected option.
        prop_assert!(
            size <= 3 * html.len() + 16,
            "{} bytes of fields from {} bytes",
            size,
            html.len()
        );
        Ok(format!("{} form(s)", forms.len().min(3)))
    });
}
