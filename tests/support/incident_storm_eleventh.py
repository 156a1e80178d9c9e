"""An eleventh set of wordings for the synthetic incident day (half=10), written by someone who had not read the
grouping code nor the earlier sets, before its one measurement."""

from __future__ import annotations

LOGIN_ELEVENTH: list[str] = [
    "can't log in. again.",
    "Anyone else unable to get into their account this morning? Website just spins then dumps me back on the home page",
    (
        "Put my email and password in, hit continue, and it takes me straight back to the empty form. "
        "No error, nothing. Tried Chrome and Safari on a Mac, cleared cookies, same thing."
    ),
    "WHY DOES THE APP SAY SESSION EXPIRED EVERY TIME I OPEN IT. I LITERALLY JUST OPENED IT",
    (
        "hello i try to enter my acount since 2 hour, always say somthing went wrong please try later. "
        "i need to change adress for my order pls help"
    ),
    (
        "Waiting for the 6 digit code by text for 25 mins now. Requested it four times. Nothing. "
        "Phone has signal, other texts arrive fine."
    ),
    "Reset my password twice and the new one still gets 'details not recognised'. Great system, love it 👏",
    "It's telling me no account exists for my email. I've been a customer for 8 years and ordered last week?!",
    "Face ID on the app just fails, then asks for a password it says is wrong. iPhone 13, latest version of the app",
    "My Account page is a white screen. That's it. Just white. Been like this since about 9",
    "error AUTH-502 when i try to get in on the app, what does that even mean",
    "bruh the app keeps chucking me out the second I open it, can't get into anything",
    "Trying to reorder my usual stuff and I can't even get past the sign in screen. Is something down?",
    (
        "Need to track a parcel that's meant to come today but the site won't let me into my orders. "
        "Keeps bouncing me back to the same page asking for my details, round and round"
    ),
    "no verification email ever turns up, checked spam, checked everything",
    "is your website broken or is it me? can't access anything in my account on desktop or phone",
    "got a £10 voucher in my email that expires tonight and I can't sign in to use it. Sort it out please",
    "fingerprint unlock stopped working on my Pixel and the password option just loads forever",
    "Been staring at 'Signing you in...' for ten minutes. Ten.",
    (
        "Tried incognito, tried a different browser, tried my partner's laptop. Still says "
        "'we couldn't verify your identity'. Who do I have to ring"
    ),
]

PAYMENT_ELEVENTH: list[str] = [
    "Card declined three times on your site. Bank says nothing's wrong with it and no attempts even reached them.",
    "Just got charged twice for the same order and neither shows in my order history. £84.97 x2. Not happy.",
    "press Place Order and... nothing. button does nothing. tried 6 times",
    (
        "Apple Pay sheet pops up, I double click, it says done, then your site says 'something went wrong, "
        "you have not been charged'. Except I have"
    ),
    "Is PayPal not working on checkout? It opens the PayPal window, closes it, and I'm back at the basket",
    "money has left my account but no confirmation email and no order. what is going on",
    "stuck on 'processing your payment, please don't refresh' for 20 mins, do I refresh or not??",
    "Klarna option greyed out today, used it last month no problem",
    "Gift card balance is £50, site says 'this card cannot be applied' at the last step. Tried three times",
    "The bank verification page just loads blank and times out. Santander app never gets a notification.",
    "Google Pay keeps failing with PAY-0041 and the card option just says declined. Tried 2 different cards",
    "Got to the final step, hit confirm, and my basket emptied itself. Every time. Lost the discount too",
    "why does clicking 'complete purchase' take me back to the delivery options page?? done this loop like 5 times",
    "voucher code accepted, then right at the end it says transaction failed. tried debit card, credit card, same",
    "pressed buy, screen went grey, then 'oops'. has it taken my money or not, who knows 🙃",
    (
        "Trying to pay for a birthday present that needs to go out today. Red banner: 'We could not complete "
        "your order. Please try another method.' I HAVE TRIED EVERY METHOD"
    ),
]

BACKGROUND_ELEVENTH: list[str] = [
    (
        "Ordered a {item} on the 3rd and it's still 'preparing for dispatch'. "
        "Signed in to check and no update in {n} days."
    ),
    "Refund for the {item} I sent back still isn't on my card. Told 5-7 working days, it's been {n}.",
    "Paid for next-day delivery and it turned up a week later. Want my £4.99 back please",
    "The self-checkout in your {city} store kept shouting unexpected item in bagging area at me for a single banana",
    "Staff at the {city} branch were really rude when I asked about a price match",
    "The {item} I bought in {month} has already broken. Handle snapped clean off.",
    "Why do I keep getting marketing emails after unsubscribing {n} times?",
    "Your subscription renewed without any reminder and took £{n} out of my account. I'd cancelled... I thought",
    "{item} has been out of stock online for months. Any idea when it's back?",
    "Price of the {item} went up £{n} between adding it to my basket Friday and paying Sunday. Cheeky.",
    "Courier left my parcel in the recycling bin. In the rain.",
    "Returns label won't print, the PDF comes out blank",
    "App keeps crashing when I try to zoom in on product photos. Android 14.",
    "Delivery driver in {city} marked my parcel as delivered and it's nowhere to be seen",
    "Got the wrong size {item}, ordered a medium, got an XL",
    "Tried to return a {item} at the {city} store and they said I have to post it back instead. Why??",
    "Logged in last week and updated my address, and my order still went to the old flat. How",
    "My account shows the {item} as delivered in {month} but I never got it, still waiting on the investigation",
    "Loyalty points from my last {n} orders have vanished from my account",
    "Half the eggs in my click and collect were smashed",
    "Was charged 10p for a bag in store even though I brought my own? Small thing but come on",
    "Checkout queue in {city} was {n} people deep with one till open on a Saturday",
    (
        "Cancelled an order for a {item} within an hour, got the cancellation email, and it still got "
        "dispatched. Now I have to send it back"
    ),
    "The {item} description said solid oak, it's clearly plastic with a sticker on it",
]
