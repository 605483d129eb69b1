{#- The point-in-time cut, named once. A feature for an offer made on day S (its as-of date) uses
    only data dated before S: everything dated S or later is the future. Windows count the days
    before S: the n-day window is ages 1..n, where a row's age is the days from its date to S. -#}

{% macro before_as_of(dated, as_of) -%}
    {{ dated }} < {{ as_of }}
{%- endmacro %}

{% macro days_before(dated, as_of) -%}
    datediff('day', {{ dated }}, {{ as_of }})
{%- endmacro %}

{% macro within_days(age, days) -%}
    {{ age }} <= {{ days }}
{%- endmacro %}

{#- The same window edge as within_days(days_before(dated, as_of), days), written as a range on the
    row's date so that a join on it reads only the window's rows (a range join, not every row of the
    history tested one by one). Use it with before_as_of for the days 1..days before as_of. -#}
{% macro on_or_after_days_before(dated, as_of, days) -%}
    {{ dated }} >= {{ as_of }} - {{ days }}
{%- endmacro %}
