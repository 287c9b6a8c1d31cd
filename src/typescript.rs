//! `vibecraft.typescript_types()`: TypeScript types for schema vibecraft, read from the
//! live catalog, so they always describe the version that is installed.
//!
//! The output has the shape Supabase's generator gives (`Database["vibecraft"]` with
//! `Tables`, `Views`, `Functions`, `Enums`), so `createClient<Database>()` and
//! postgrest-js accept it, plus the usual `Tables<"users">` / `TablesInsert<…>` helpers.
//! Choices, where the catalog leaves room:
//! - Numbers: int8 and numeric are `number`, as PostgREST sends them in JSON.
//! - Enums: a one-column CHECK of the form `col IN ('a', 'b')` becomes
//!   `Enums["<table>_<column>"]`; PostgreSQL enum types become a union of their labels.
//! - Views: every column may be null (the catalog does not know); auto-updatable views get
//!   `Insert`/`Update` with every column optional.
//! - Functions: those that vibecraft_anon, vibecraft_authenticated or vibecraft_service
//!   may execute; arguments with defaults are optional.

use crate::errors::internal;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

const RELATION_COLUMNS: &str = "
    SELECT c.relname::text, c.relkind::text, a.attname::text, a.atttypid::int8, a.attnotnull,
           (a.atthasdef OR a.attidentity <> '') AS has_default, a.attgenerated <> '' AS generated,
           CASE WHEN c.relkind = 'v'
                THEN pg_catalog.pg_relation_is_updatable(c.oid::pg_catalog.regclass, false) & 12 = 12
                ELSE c.relkind IN ('r', 'p') END AS writable
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'vibecraft'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
     ORDER BY c.relname, a.attnum";

const ONE_COLUMN_CHECKS: &str = "
    SELECT c.relname::text, a.attname::text, pg_catalog.pg_get_constraintdef(k.oid)
      FROM pg_catalog.pg_constraint k
      JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
      JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
     WHERE k.contype = 'c' AND pg_catalog.cardinality(k.conkey) = 1
       AND c.relnamespace = 'vibecraft'::pg_catalog.regnamespace
     ORDER BY c.relname, a.attname, k.conname";

const FOREIGN_KEYS: &str = "
    SELECT c.relname::text, k.conname::text,
           ARRAY(SELECT a.attname::text FROM pg_catalog.unnest(k.conkey) WITH ORDINALITY u(n, i)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
           r.relname::text,
           ARRAY(SELECT a.attname::text FROM pg_catalog.unnest(k.confkey) WITH ORDINALITY u(n, i)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i),
           EXISTS (SELECT 1 FROM pg_catalog.pg_index x
                    WHERE x.indrelid = k.conrelid AND x.indisunique AND x.indpred IS NULL
                      AND x.indnkeyatts = pg_catalog.cardinality(k.conkey)
                      AND (x.indkey::int2[])[0:x.indnkeyatts - 1] @> k.conkey)
      FROM pg_catalog.pg_constraint k
      JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
      JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
     WHERE k.contype = 'f' AND c.relnamespace = 'vibecraft'::pg_catalog.regnamespace
     ORDER BY c.relname, k.conname";

const FUNCTIONS: &str = "
    SELECT p.proname::text, p.pronargdefaults::int4,
           COALESCE(p.proallargtypes, p.proargtypes::oid[])::int8[], p.proargmodes::text[], p.proargnames,
           p.prorettype::int8, p.proretset
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'vibecraft'::pg_catalog.regnamespace AND p.prokind = 'f'
       AND p.prorettype NOT IN ('pg_catalog.trigger'::pg_catalog.regtype, 'pg_catalog.event_trigger'::pg_catalog.regtype)
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                    WHERE r.rolname IN ('vibecraft_anon', 'vibecraft_authenticated', 'vibecraft_service')
                      AND pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE'))
     ORDER BY p.proname, p.oid";

const TYPE_INFO: &str = "
    SELECT t.typname::text, t.typtype::text, t.typcategory::text, t.typelem::int8, t.typbasetype::int8,
           CASE WHEN t.typrelid <> 0 AND c.relnamespace = 'vibecraft'::pg_catalog.regnamespace
                THEN c.relname::text END,
           ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
      FROM pg_catalog.pg_type t LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
     WHERE t.oid = $1::pg_catalog.oid";

// `vibecraft.typescript_types() returns text`: the TypeScript definitions of schema
// vibecraft as installed (see the module comment for the shape).
#[pg_extern(stable, parallel_restricted)]
fn typescript_types() -> String {
    Spi::connect(|client| Generator { client, types: HashMap::new() }.render())
}

struct Column {
    name: String,
    type_oid: i64,
    not_null: bool,
    has_default: bool,
    generated: bool,
}

struct Relation {
    is_view: bool,
    writable: bool,
    columns: Vec<Column>,
    foreign_keys: Vec<String>,
}

struct Generator<'a, 'conn> {
    client: &'a SpiClient<'conn>,
    types: HashMap<i64, String>,
}

fn spi_error(e: pgrx::spi::SpiError) -> ! {
    internal(format!("vibecraft.typescript_types: cannot read the catalog: {e}"))
}

impl Generator<'_, '_> {
    fn render(mut self) -> String {
        let enums = self.check_enums();
        let relations = self.relations();
        let functions = self.functions();

        // The installed version, which is what the catalog describes (the library may be newer
        // until ALTER EXTENSION vibecraft UPDATE has run).
        let installed: String = self
            .client
            .select("SELECT e.extversion::pg_catalog.text FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'vibecraft'", None, &[])
            .unwrap_or_else(|e| spi_error(e))
            .first()
            .get_one()
            .ok()
            .flatten()
            .unwrap_or_else(|| "(not installed)".to_string());
        let mut out = String::new();
        let _ = writeln!(out, "// TypeScript types for schema vibecraft {installed}, generated from the live catalog by");
        out.push_str("// `SELECT vibecraft.typescript_types()`. Do not edit: generate again after each upgrade.\n\n");
        out.push_str("export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[];\n\n");
        out.push_str("export type Database = {\n  vibecraft: {\n");
        for (section, views) in [("Tables", false), ("Views", true)] {
            let members: Vec<String> = relations
                .iter()
                .filter(|(_, r)| r.is_view == views)
                .map(|(name, r)| self.relation_type(name, r, &enums))
                .collect();
            section_block(&mut out, section, &members);
        }
        section_block(&mut out, "Functions", &functions);
        let enum_members: Vec<String> = enums
            .iter()
            .map(|((table, column), values)| format!("{}: {};\n", key(&format!("{table}_{column}")), union(values)))
            .collect();
        section_block(&mut out, "Enums", &enum_members);
        section_block(&mut out, "CompositeTypes", &[]);
        out.push_str("  };\n};\n\n");
        out.push_str(HELPERS);
        out
    }

    /// One-column CHECK constraints that list the allowed values, keyed by (table, column).
    fn check_enums(&self) -> BTreeMap<(String, String), Vec<String>> {
        let mut enums = BTreeMap::new();
        for row in self.client.select(ONE_COLUMN_CHECKS, None, &[]).unwrap_or_else(|e| spi_error(e)) {
            let (Ok(Some(table)), Ok(Some(column)), Ok(Some(def))) =
                (row.get::<String>(1), row.get::<String>(2), row.get::<String>(3))
            else {
                continue;
            };
            if let Some(values) = allowed_values(&def) {
                enums.entry((table, column)).or_insert(values);
            }
        }
        enums
    }

    fn relations(&self) -> BTreeMap<String, Relation> {
        let mut relations: BTreeMap<String, Relation> = BTreeMap::new();
        for row in self.client.select(RELATION_COLUMNS, None, &[]).unwrap_or_else(|e| spi_error(e)) {
            let name: String = row.get(1).ok().flatten().unwrap_or_default();
            let kind: String = row.get(2).ok().flatten().unwrap_or_default();
            let relation = relations.entry(name).or_insert_with(|| Relation {
                is_view: kind == "v" || kind == "m",
                writable: row.get::<bool>(8).ok().flatten().unwrap_or(false),
                columns: Vec::new(),
                foreign_keys: Vec::new(),
            });
            relation.columns.push(Column {
                name: row.get(3).ok().flatten().unwrap_or_default(),
                type_oid: row.get(4).ok().flatten().unwrap_or(0),
                not_null: row.get(5).ok().flatten().unwrap_or(false),
                has_default: row.get(6).ok().flatten().unwrap_or(false),
                generated: row.get(7).ok().flatten().unwrap_or(false),
            });
        }
        for row in self.client.select(FOREIGN_KEYS, None, &[]).unwrap_or_else(|e| spi_error(e)) {
            let table: String = row.get(1).ok().flatten().unwrap_or_default();
            let name: String = row.get(2).ok().flatten().unwrap_or_default();
            let columns: Vec<String> = row.get(3).ok().flatten().unwrap_or_default();
            let referenced: String = row.get(4).ok().flatten().unwrap_or_default();
            let referenced_columns: Vec<String> = row.get(5).ok().flatten().unwrap_or_default();
            let one_to_one: bool = row.get(6).ok().flatten().unwrap_or(false);
            if let Some(relation) = relations.get_mut(&table) {
                relation.foreign_keys.push(format!(
                    "{{\n  foreignKeyName: {};\n  columns: {};\n  isOneToOne: {one_to_one};\n  referencedRelation: {};\n  referencedColumns: {};\n}},\n",
                    quote(&name),
                    tuple(&columns),
                    quote(&referenced),
                    tuple(&referenced_columns)
                ));
            }
        }
        relations
    }

    fn relation_type(&mut self, name: &str, r: &Relation, enums: &BTreeMap<(String, String), Vec<String>>) -> String {
        let mut row = String::new();
        let mut insert = String::new();
        let mut update = String::new();
        for c in &r.columns {
            let ts = match enums.get(&(name.to_string(), c.name.clone())) {
                Some(_) => format!("Database[\"vibecraft\"][\"Enums\"][{}]", quote(&format!("{name}_{}", c.name))),
                None => self.ts_type(c.type_oid),
            };
            let nullable = r.is_view || !c.not_null;
            let value = if nullable { format!("{ts} | null") } else { ts };
            let _ = writeln!(row, "{}: {value};", key(&c.name));
            if c.generated {
                let _ = writeln!(insert, "{}?: never;", key(&c.name));
                let _ = writeln!(update, "{}?: never;", key(&c.name));
                continue;
            }
            let optional = if r.is_view || nullable || c.has_default { "?" } else { "" };
            let _ = writeln!(insert, "{}{optional}: {value};", key(&c.name));
            let _ = writeln!(update, "{}?: {value};", key(&c.name));
        }
        let mut body = format!("Row: {};\n", object(&row));
        if r.writable {
            let _ = write!(body, "Insert: {};\nUpdate: {};\n", object(&insert), object(&update));
        }
        let relationships =
            if r.foreign_keys.is_empty() { "[]".to_string() } else { format!("[\n{}]", indent(&r.foreign_keys.concat())) };
        let _ = writeln!(body, "Relationships: {relationships};");
        format!("{}: {};\n", key(name), object(&body))
    }

    fn functions(&mut self) -> Vec<String> {
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let rows: Vec<_> = self
            .client
            .select(FUNCTIONS, None, &[])
            .unwrap_or_else(|e| spi_error(e))
            .map(|row| {
                (
                    row.get::<String>(1).ok().flatten().unwrap_or_default(),
                    row.get::<i32>(2).ok().flatten().unwrap_or(0),
                    row.get::<Vec<i64>>(3).ok().flatten().unwrap_or_default(),
                    row.get::<Vec<String>>(4).ok().flatten(),
                    row.get::<Vec<String>>(5).ok().flatten().unwrap_or_default(),
                    row.get::<i64>(6).ok().flatten().unwrap_or(0),
                    row.get::<bool>(7).ok().flatten().unwrap_or(false),
                )
            })
            .collect();
        for (name, defaults, types, modes, names, returns, returns_set) in rows {
            let mut inputs = Vec::new();
            let mut outputs = Vec::new();
            for (i, oid) in types.iter().enumerate() {
                let mode = modes.as_ref().and_then(|m| m.get(i)).map(String::as_str).unwrap_or("i");
                let arg = names.get(i).filter(|n| !n.is_empty()).cloned().unwrap_or_else(|| format!("arg{}", i + 1));
                let ts = self.ts_type(*oid);
                if matches!(mode, "i" | "b" | "v") {
                    inputs.push((arg.clone(), ts.clone()));
                }
                if matches!(mode, "o" | "b" | "t") {
                    outputs.push((arg, ts));
                }
            }
            let first_optional = inputs.len().saturating_sub(defaults.max(0) as usize);
            let args = if inputs.is_empty() {
                "Record<PropertyKey, never>".to_string()
            } else {
                let fields: String = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, (n, t))| format!("{}{}: {t};\n", key(n), if i >= first_optional { "?" } else { "" }))
                    .collect();
                object(&fields)
            };
            let result = if outputs.len() > 1 || (returns_set && !outputs.is_empty()) {
                object(&outputs.iter().map(|(n, t)| format!("{}: {t} | null;\n", key(n))).collect::<String>())
            } else if let Some((_, t)) = outputs.first() {
                t.clone()
            } else {
                self.ts_type(returns)
            };
            let result = if returns_set { format!("{}[]", parenthesize(&result)) } else { result };
            by_name.entry(name).or_default().push(object(&format!("Args: {args};\nReturns: {result};\n")));
        }
        by_name.into_iter().map(|(name, overloads)| format!("{}: {};\n", key(&name), overloads.join(" | "))).collect()
    }

    /// The TypeScript type of a PostgreSQL type, as PostgREST would send it in JSON.
    fn ts_type(&mut self, oid: i64) -> String {
        if let Some(known) = self.types.get(&oid) {
            return known.clone();
        }
        let row = self.client.select(TYPE_INFO, Some(1), &[oid.into()]).unwrap_or_else(|e| spi_error(e)).first();
        let name: String = row.get(1).ok().flatten().unwrap_or_default();
        let typtype: String = row.get(2).ok().flatten().unwrap_or_default();
        let category: String = row.get(3).ok().flatten().unwrap_or_default();
        let element: i64 = row.get(4).ok().flatten().unwrap_or(0);
        let base: i64 = row.get(5).ok().flatten().unwrap_or(0);
        let table: Option<String> = row.get(6).ok().flatten();
        let labels: Vec<String> = row.get(7).ok().flatten().unwrap_or_default();
        let ts = match (typtype.as_str(), category.as_str()) {
            ("d", _) => self.ts_type(base),
            (_, "A") if element != 0 => format!("{}[]", parenthesize(&self.ts_type(element))),
            ("e", _) => union(&labels),
            ("c", _) => match table {
                Some(t) => format!("Database[\"vibecraft\"][\"Tables\"][{}][\"Row\"]", quote(&t)),
                None => "Record<string, unknown>".to_string(),
            },
            _ => base_type(&name).to_string(),
        };
        self.types.insert(oid, ts.clone());
        ts
    }
}

fn base_type(name: &str) -> &'static str {
    match name {
        "bool" => "boolean",
        "int2" | "int4" | "int8" | "float4" | "float8" | "numeric" | "oid" | "money" => "number",
        "json" | "jsonb" => "Json",
        "void" => "undefined",
        "record" => "Record<string, unknown>",
        "text" | "varchar" | "bpchar" | "char" | "name" | "citext" | "uuid" | "date" | "time" | "timetz"
        | "timestamp" | "timestamptz" | "interval" | "inet" | "cidr" | "macaddr" | "bytea" | "bit" | "varbit"
        | "tsvector" | "tsquery" | "xml" | "regclass" | "regtype" | "regproc" | "regprocedure" => "string",
        _ => "unknown",
    }
}

// The values of `CHECK ((col)::text = ANY ((ARRAY['a'::…, 'b'::…])::text[]))`, which is how
// PostgreSQL prints `col IN ('a', 'b')`; None for any other kind of check.
fn allowed_values(def: &str) -> Option<Vec<String>> {
    let mut values = Vec::new();
    let mut shape = String::new();
    let mut chars = def.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            shape.push(c);
            continue;
        }
        let mut literal = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    literal.push('\'');
                }
                '\'' => break,
                other => literal.push(other),
            }
        }
        values.push(literal);
        shape.push_str("''");
    }
    let is_list = shape.starts_with("CHECK (")
        && shape.matches("= ANY (").count() == 1
        && shape.contains("ARRAY[")
        && !shape.contains(" AND ")
        && !shape.contains(" OR ")
        && !shape.contains("NOT ");
    (is_list && !values.is_empty()).then_some(values)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

// A string literal (JSON's quoting is valid TypeScript).
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

// A property name: bare where TypeScript allows it.
fn key(s: &str) -> String {
    if is_identifier(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

fn union(values: &[String]) -> String {
    if values.is_empty() {
        "never".to_string()
    } else {
        values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(" | ")
    }
}

fn tuple(values: &[String]) -> String {
    format!("[{}]", values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", "))
}

fn parenthesize(t: &str) -> String {
    if t.contains(" | ") && !t.starts_with('{') {
        format!("({t})")
    } else {
        t.to_string()
    }
}

fn indent(lines: &str) -> String {
    lines.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("  {l}\n") }).collect()
}

// `{ …fields… }`, with the fields indented one level; `{}`-like empty objects stay on one line.
fn object(fields: &str) -> String {
    if fields.is_empty() {
        "{ [_ in never]: never }".to_string()
    } else {
        format!("{{\n{}}}", indent(fields))
    }
}

fn section_block(out: &mut String, section: &str, members: &[String]) {
    let block = format!("{section}: {};\n", object(&members.concat()));
    out.push_str(&indent(&indent(&block)));
}

const HELPERS: &str = r#"type Schema = Database["vibecraft"];

// A row of a table or view, e.g. `Tables<"users">`.
export type Tables<T extends keyof (Schema["Tables"] & Schema["Views"])> = (Schema["Tables"] & Schema["Views"])[T] extends {
  Row: infer R;
}
  ? R
  : never;
// What an INSERT may carry, e.g. `TablesInsert<"projects">`.
export type TablesInsert<T extends keyof Schema["Tables"]> = Schema["Tables"][T]["Insert"];
// What an UPDATE may carry, e.g. `TablesUpdate<"projects">`.
export type TablesUpdate<T extends keyof Schema["Tables"]> = Schema["Tables"][T]["Update"];
// The allowed values of a listed column, e.g. `Enums<"orders_status">`.
export type Enums<T extends keyof Schema["Enums"]> = Schema["Enums"][T];
// Arguments and result of a function, e.g. `FunctionArgs<"deduct_credits">`.
export type FunctionArgs<T extends keyof Schema["Functions"]> = Schema["Functions"][T]["Args"];
export type FunctionReturns<T extends keyof Schema["Functions"]> = Schema["Functions"][T]["Returns"];
"#;

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::allowed_values;
    use pgrx::prelude::*;

    #[pg_test]
    fn check_lists_become_enums_and_other_checks_do_not() {
        assert_eq!(
            allowed_values("CHECK (((status)::text = ANY ((ARRAY['a'::character varying, 'it''s'::character varying])::text[])))"),
            Some(vec!["a".to_string(), "it's".to_string()])
        );
        assert_eq!(allowed_values("CHECK ((credits >= 0))"), None);
        assert_eq!(allowed_values("CHECK (((x IS NULL) OR (x = ANY (ARRAY['a'::text]))))"), None);
        assert_eq!(allowed_values("CHECK (((slug)::text ~ '^[a-z]+$'::text))"), None);
    }

    #[pg_test]
    fn the_output_names_every_table_view_and_granted_function() {
        let ts = Spi::get_one::<String>("SELECT vibecraft.typescript_types()").unwrap().unwrap();
        assert!(ts.starts_with(&format!("// TypeScript types for schema vibecraft {},", env!("CARGO_PKG_VERSION"))));
        assert!(ts.contains("      users: {\n        Row: {\n          id: string;\n"), "{ts}");
        assert!(ts.contains("      user_profiles: {"), "views are listed");
        assert!(ts.contains("deduct_credits: {\n        Args: {\n          user_uuid: string;\n          amount: number;\n          reason?: string;\n"));
        assert!(ts.contains("orders_status: \"pending\" | \"processing\" | \"completed\" | \"failed\" | \"cancelled\";"));
        // Not granted to any vibecraft role, so not part of the API.
        assert!(!ts.contains("seed_demo_data:"));
    }
}
