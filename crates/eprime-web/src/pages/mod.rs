//! One module per page (or group of pages).

pub mod activity;
pub mod activity_form;
pub mod admin;
pub mod compare;
pub mod document;
pub mod event;
pub mod event_forms;
pub mod goal;
pub mod home;
pub mod home_menu;
pub mod inbox;
pub mod login;
pub mod menu;
pub mod partnership;
