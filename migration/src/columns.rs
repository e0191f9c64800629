//! Small column and key builders shared by the migrations, so every table spells ids,
//! tenant keys and timestamps the same way on both backends.

use sea_orm_migration::prelude::*;

/// A name for a table, column or index.
pub fn n(name: &str) -> Alias {
    Alias::new(name)
}

/// `id uuid primary key` (values are UUID v7, made by the application).
pub fn id() -> ColumnDef {
    ColumnDef::new(n("id"))
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

/// A required uuid column.
pub fn uuid(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).uuid().not_null().to_owned()
}

/// An optional uuid column.
pub fn uuid_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).uuid().null().to_owned()
}

/// A required short text column.
pub fn string(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).string().not_null().to_owned()
}

/// A required short text column with a default.
pub fn string_default(name: &str, default: &str) -> ColumnDef {
    ColumnDef::new(n(name))
        .string()
        .not_null()
        .default(default)
        .to_owned()
}

/// An optional short text column.
pub fn string_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).string().null().to_owned()
}

/// A required long text column.
pub fn text(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).text().not_null().to_owned()
}

/// An optional long text column.
pub fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).text().null().to_owned()
}

/// A required integer with a default.
pub fn integer(name: &str, default: i32) -> ColumnDef {
    ColumnDef::new(n(name))
        .integer()
        .not_null()
        .default(default)
        .to_owned()
}

/// An optional integer.
pub fn integer_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).integer().null().to_owned()
}

/// A required 64-bit integer (money in micros, token counts).
pub fn big_integer(name: &str, default: i64) -> ColumnDef {
    ColumnDef::new(n(name))
        .big_integer()
        .not_null()
        .default(default)
        .to_owned()
}

/// An optional 64-bit integer.
pub fn big_integer_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).big_integer().null().to_owned()
}

/// An optional float.
pub fn double_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).double().null().to_owned()
}

/// A required float with a default.
pub fn double(name: &str, default: f64) -> ColumnDef {
    ColumnDef::new(n(name))
        .double()
        .not_null()
        .default(default)
        .to_owned()
}

/// A required boolean with a default.
pub fn boolean(name: &str, default: bool) -> ColumnDef {
    ColumnDef::new(n(name))
        .boolean()
        .not_null()
        .default(default)
        .to_owned()
}

/// A required JSON document (jsonb on PostgreSQL, text on SQLite).
pub fn json(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).json_binary().not_null().to_owned()
}

/// An optional JSON document.
pub fn json_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).json_binary().null().to_owned()
}

/// A required timestamp with time zone.
pub fn timestamp(name: &str) -> ColumnDef {
    ColumnDef::new(n(name))
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

/// An optional timestamp with time zone.
pub fn timestamp_null(name: &str) -> ColumnDef {
    ColumnDef::new(n(name))
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

/// An optional calendar date.
pub fn date(name: &str) -> ColumnDef {
    ColumnDef::new(n(name)).date().not_null().to_owned()
}

/// A foreign key from `table.column` to `target.id`.
pub fn fk(
    table: &str,
    column: &str,
    target: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(n(table), n(column))
        .to(n(target), n("id"))
        .on_delete(on_delete)
        .to_owned()
}

/// `tenant_id uuid not null references tenants(id) on delete cascade`: every row carries its tenant.
pub fn tenant_fk(table: &str) -> ForeignKeyCreateStatement {
    fk(table, "tenant_id", "tenants", ForeignKeyAction::Cascade)
}

/// A plain or unique index over `columns`.
pub fn index(table: &str, name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(n(table)).if_not_exists();
    for column in columns {
        statement.col(n(column));
    }
    if unique {
        statement.unique();
    }
    statement.to_owned()
}

/// Creates a table and its indexes.
pub async fn create(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    manager.create_table(table).await?;
    for statement in indexes {
        manager.create_index(statement).await?;
    }
    Ok(())
}

/// Drops tables in the given order (children first).
pub async fn drop_all(manager: &SchemaManager<'_>, tables: &[&str]) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(n(table)).if_exists().to_owned())
            .await?;
    }
    Ok(())
}
