//! Channels and statuses as database rows hold them: their names, read
//! back into the enum so a row carries `Channel` and `Status`, not text. An
//! unknown name fails the read, as any malformed column does.

use crate::{Channel, Status};
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Type};

macro_rules! by_name {
    ($ty:ty) => {
        impl<DB: Database> Type<DB> for $ty
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $ty
        where
            String: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<String as Decode<'r, DB>>::decode(value)?.parse::<$ty>()?)
            }
        }
    };
}

by_name!(Channel);
by_name!(Status);
