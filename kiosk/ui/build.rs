//! Compiles the Slint UI. Debug info is kept so tests can find elements by
//! their accessible labels.
//!
//! It also writes `intake_properties.rs`: a function that reads **every**
//! property of the `Intake` global (and every field of the structs and
//! models in it) as text, generated from `ui/intake.slint` itself, so a test
//! that checks what is left after a wipe cannot miss a property added later
//! (the `inspect` feature includes it; the terminal does not).
use std::collections::BTreeMap;
use std::fmt::Write;

fn main() {
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    slint_build::compile_with_config("ui/app.slint", config).expect("the Slint UI compiles");
    println!("cargo:rerun-if-changed=ui/intake.slint");
    let source = std::fs::read_to_string("ui/intake.slint").expect("ui/intake.slint is readable");
    let code = inspector(&source);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set"));
    std::fs::write(out.join("intake_properties.rs"), code).expect("OUT_DIR is writable");
}

fn snake(name: &str) -> String {
    name.replace('-', "_")
}

/// The structs of the file: name → fields (name, type).
fn structs(source: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for line in source.lines() {
        let Some(rest) = line.trim().strip_prefix("export struct ") else {
            continue;
        };
        let (name, body) = rest.split_once('{').expect("a struct has a body");
        let body = body.trim().trim_end_matches('}');
        let mut fields = Vec::new();
        for field in split_fields(body) {
            let (f, ty) = field.split_once(':').expect("a field has a type");
            fields.push((f.trim().to_string(), ty.trim().to_string()));
        }
        out.insert(name.trim().to_string(), fields);
    }
    out
}

/// Splits "a: string, b: [string]" at the top-level commas.
fn split_fields(body: &str) -> Vec<String> {
    let (mut depth, mut cur, mut out) = (0, String::new(), Vec::new());
    for c in body.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Code that pushes the text of `expr` (of Slint type `ty`) onto `out`.
fn dump(
    expr: &str,
    ty: &str,
    label: &str,
    structs: &BTreeMap<String, Vec<(String, String)>>,
) -> String {
    if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let row = dump("row", inner, &format!("{label}[]"), structs);
        return format!(
            "{{ let rows = {expr}; out.push((\"{label}\".to_string(), format!(\"{{}} rows\", slint::Model::row_count(&rows)))); for row in slint::Model::iter(&rows) {{ {row} }} }}\n"
        );
    }
    match ty {
        "string" => format!("out.push((\"{label}\".to_string(), {expr}.to_string()));\n"),
        "image" => format!(
            "{{ let s = {expr}.size(); out.push((\"{label}\".to_string(), format!(\"image {{}}x{{}}\", s.width, s.height))); }}\n"
        ),
        "bool" | "int" | "float" | "Screen" => {
            format!("out.push((\"{label}\".to_string(), format!(\"{{:?}}\", {expr})));\n")
        }
        name => {
            let fields = structs
                .get(name)
                .unwrap_or_else(|| panic!("type {name} of {label} is not known to the inspector"));
            let mut code = format!("{{\nout.push((\"{label}\".to_string(), \"{name}\".to_string()));\n");
            for (f, fty) in fields {
                code += &dump(
                    &format!("({expr}).{}", snake(f)),
                    fty,
                    &format!("{label}.{f}"),
                    structs,
                );
            }
            code + "}\n"
        }
    }
}

fn inspector(source: &str) -> String {
    let structs = structs(source);
    let global = source
        .split("export global Intake {")
        .nth(1)
        .expect("ui/intake.slint declares the Intake global");
    let global = &global[..global.find("\n}").expect("the global ends")];
    let mut body = String::new();
    let mut names = Vec::new();
    for line in global.lines() {
        let line = line.trim();
        let Some(rest) = [
            "in property <",
            "in-out property <",
            "out property <",
            "property <",
        ]
        .iter()
        .find_map(|p| line.strip_prefix(p)) else {
            continue;
        };
        let (ty, name) = rest.split_once('>').expect("a property has a type");
        let name = name.trim().trim_end_matches(';');
        let name = name.split(':').next().unwrap_or(name).trim();
        names.push(name.to_string());
        let getter = format!("g.get_{}()", snake(name));
        let _ = write!(body, "{}", dump(&getter, ty.trim(), name, &structs));
    }
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "/// The name of every property of the `Intake` global.\n\
         pub const INTAKE_PROPERTIES: &[&str] = &[{list}];\n\n\
         /// Every property of the `Intake` global as (name, text): rows of models\n\
         /// and fields of structs one by one, images as their size.\n\
         pub fn intake_properties(app: &crate::AppWindow) -> Vec<(String, String)> {{\n\
         use slint::ComponentHandle;\n\
         let g = app.global::<crate::Intake>();\n\
         let mut out: Vec<(String, String)> = Vec::new();\n\
         {body}\
         out\n}}\n"
    )
}
